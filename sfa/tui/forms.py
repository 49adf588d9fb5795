"""Modal forms. Every field is checked as it is typed, by the same service rules the CLI uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from sfa.domain.errors import SfaError
from sfa.tui.widgets import KeysFooter

# A check takes the typed text and raises SfaError (usually ValidationError) when it is refused.
Check = Callable[[str], object]

FORM_CSS = """
FormScreen, AskScreen, ConfirmScreen { align: center middle; }
#dialog { width: 76; max-width: 100%; height: auto; max-height: 100%; border: thick $primary;
          background: $surface; padding: 0 1; }
#dialog .title { text-style: bold; height: 1; margin-bottom: 1; }
#dialog .error { color: $error; height: auto; }
#dialog .info { height: auto; }
#dialog .row { height: 1; margin-bottom: 1; }
#dialog.dense .row { margin-bottom: 0; }
#dialog .row Label { width: 22; }
#dialog .row Input { width: 1fr; }
#dialog .error { margin: -1 0 1 22; }
#dialog.dense .error { margin: 0 0 0 22; }
#dialog .error.-empty { display: none; }
#dialog .buttons { height: 3; align-horizontal: right; }
#dialog .buttons Button { margin-left: 1; min-width: 10; }
#fields { height: auto; max-height: 18; }
FormScreen > Footer, AskScreen > Footer, ConfirmScreen > Footer, PickScreen > Footer { dock: bottom; }
"""


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    check: Check | None = None
    value: str = ""
    placeholder: str = ""
    required: bool = False


class FormScreen(ModalScreen[dict[str, str] | None]):
    """Fields with live checks. Enter moves to the next field (from the last one to the Save
    button, where Enter saves); Ctrl+S saves from anywhere when every field passes; Esc cancels
    and writes nothing. The form has its own footer: its keys, not the screen's under it."""

    DEFAULT_CSS = FORM_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("enter", "next_field", "Next field", show=True),
    ]

    def __init__(
        self,
        title: str,
        fields: Sequence[FormField],
        *,
        info: str = "",
        save_label: str = "Save",
        preview: Callable[[dict[str, str]], str | Content] | None = None,
        final_check: Callable[[dict[str, str]], tuple[str, str] | None] | None = None,
    ) -> None:
        super().__init__()
        self.final_check = final_check  # a check of the fields together: (field, problem) or None
        self.title_text = title
        self.fields = list(fields)
        self.info = info
        self.save_label = save_label
        self.preview = preview

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dense" if len(self.fields) > 5 else ""):
            yield Label(Content(self.title_text), classes="title")  # titles and infos quote records:
            if self.info:  # text, never markup
                yield Static(Content(self.info), classes="info")
            with VerticalScroll(id="fields"):
                for field in self.fields:
                    with Horizontal(classes="row"):
                        yield Label(field.label + (" *" if field.required else ""))
                        yield Input(
                            field.value, placeholder=field.placeholder, id=f"f-{field.name}", compact=True
                        )
                    yield Static("", id=f"e-{field.name}", classes="error -empty")
            if self.preview is not None:
                yield Static("", id="preview", classes="info")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.save_label, id="save", variant="primary")
        yield KeysFooter()

    def on_mount(self) -> None:
        for field in self.fields:
            self._check(field.name, field.value, quiet=True)
        self._show_preview()
        self.query_one(Input).focus()

    def _show_preview(self) -> None:
        if self.preview is None:
            return
        text: str | Content
        try:
            text = self.preview(self.values())  # figures, in markup
        except SfaError as exc:
            text = Content.styled(str(exc), "dim")  # it may quote what was typed
        self.query_one("#preview", Static).update(text)

    def problem(self, name: str, text: str) -> str | None:
        field = next(f for f in self.fields if f.name == name)
        if not text.strip():
            return "required" if field.required else None
        if field.check is None:
            return None
        try:
            field.check(text)
        except SfaError as exc:
            return str(exc)
        return None

    def _check(self, name: str, text: str, quiet: bool = False) -> str | None:
        problem = self.problem(name, text)
        shown = "" if problem is None or (quiet and not text) else problem
        error = self.query_one(f"#e-{name}", Static)
        error.update(Content(shown))  # the message quotes what was typed: text, never markup
        error.set_class(not shown, "-empty")
        return problem

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("f-"):
            self._check(event.input.id[2:], event.value)
            self._show_preview()

    def values(self) -> dict[str, str]:
        return {f.name: self.query_one(f"#f-{f.name}", Input).value for f in self.fields}

    def changed_values(self, typed: dict[str, str]) -> dict[str, str]:
        """Of what was typed, only the fields the person changed (an emptied field clears it)."""
        return {f.name: typed[f.name] for f in self.fields if typed[f.name].strip() != f.value.strip()}

    def action_save(self) -> None:
        values = self.values()
        problems = [name for name, text in values.items() if self._check(name, text) is not None]
        if problems:
            self.query_one(f"#f-{problems[0]}", Input).focus()
            return
        if self.final_check is not None:
            try:
                found = self.final_check(values)
            except SfaError as exc:
                found = (self.fields[0].name, str(exc))
            if found is not None:  # shown under its field; the form stays, nothing is written
                name, problem = found
                error = self.query_one(f"#e-{name}", Static)
                error.update(Content(problem))
                error.set_class(False, "-empty")
                self.query_one(f"#f-{name}", Input).focus()
                return
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_next_field()

    _moving_to: Any = None  # the widget Enter asked to focus, until it has the focus

    def on_descendant_focus(self, event: Any) -> None:
        if event.widget is self._moving_to:
            self._moving_to = None

    def action_next_field(self) -> None:
        """Enter: the next field; after the last field, the Save button (Enter there saves). A
        form of one field (a reason, a new due) is saved by Enter: there is nothing to move to.
        Two quick Enters move two fields on (the focus moves after the key has been handled)."""
        inputs = list(self.query(Input))
        current = self._moving_to or self.focused
        if len(inputs) == 1 and current is inputs[0]:
            self.action_save()
            return
        if isinstance(current, Input) and current in inputs:
            index = inputs.index(current)
            target: Any = inputs[index + 1] if index + 1 < len(inputs) else self.query_one("#save", Button)
            self._moving_to = target
            target.focus()
        elif isinstance(current, Button):
            self._moving_to = None
            current.press()

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()


def ask(
    title: str,
    label: str,
    *,
    required: bool = True,
    check: Check | None = None,
    info: str = "",
    save_label: str = "OK",
) -> FormScreen:
    """A one-field form (a reason, a name ...); dismisses with {"value": text} or None."""
    return FormScreen(
        title, [FormField("value", label, check, required=required)], info=info, save_label=save_label
    )


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question with details (what a write will do, the duplicate check's findings):
    Enter (or y) confirms, Escape (or n) cancels and nothing is written."""

    DEFAULT_CSS = FORM_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,y", "answer(True)", "Confirm", key_display="enter", priority=True),
        Binding("escape,n", "answer(False)", "Cancel", key_display="esc"),
    ]

    def __init__(self, title: str, info: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.title_text, self.info, self.yes, self.no = title, info, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Content(self.title_text), classes="title")
            yield Static(Content(self.info), classes="info")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.no} (esc)", id="no")
                yield Button(f"{self.yes} (enter)", id="yes", variant="primary")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()  # Enter confirms; tab to Cancel and Enter cancels

    def action_answer(self, value: bool) -> None:
        focused = self.focused
        if value and isinstance(focused, Button) and focused.id == "no":
            value = False  # Enter on the Cancel button cancels
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class PickScreen(ModalScreen[str | None]):
    """Choose one of many (an opportunity, an account): type to filter, Enter or click to pick."""

    DEFAULT_CSS = (
        FORM_CSS
        + """
    PickScreen { align: center middle; }
    PickScreen OptionList { height: auto; max-height: 14; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, choices: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        from textual.widgets import OptionList

        with Vertical(id="dialog"):
            yield Label(Content(self.title_text), classes="title")
            yield Input(placeholder="type to filter", id="filter", compact=True)
            yield OptionList(*self._options(""), id="choices")
        yield KeysFooter()

    def _options(self, text: str) -> list[Any]:
        from textual.widgets.option_list import Option

        words = text.lower().split()
        return [
            Option(Content(label), id=key)
            for key, label in self.choices
            if all(w in label.lower() for w in words)
        ]

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        from textual.widgets import OptionList

        options = self.query_one("#choices", OptionList)
        options.clear_options()
        options.add_options(self._options(event.value))
        if options.option_count:
            options.highlighted = 0

    @on(Input.Submitted, "#filter")
    def _take_first(self, event: Input.Submitted) -> None:
        event.stop()
        from textual.widgets import OptionList

        options = self.query_one("#choices", OptionList)
        option = options.highlighted_option or (
            options.get_option_at_index(0) if options.option_count else None
        )
        if option is not None:
            self.dismiss(option.id)

    def on_key(self, event: Any) -> None:
        from textual.widgets import OptionList

        if event.key in ("down", "up") and self.query_one("#filter", Input).has_focus:
            options = self.query_one("#choices", OptionList)
            options.focus()
            if options.highlighted is None and options.option_count:
                options.highlighted = 0
            event.stop()

    def on_option_list_option_selected(self, event: Any) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
