"""The baseline: a bare Typer hello world, started as a process exactly like sfa."""

import typer

app = typer.Typer()


@app.command()
def hello(name: str = "world") -> None:
    print(f"hello {name}")


if __name__ == "__main__":
    app()
