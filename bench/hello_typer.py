"""The baseline every CLI figure is compared with: a bare Typer hello-world, started the same way."""

import typer

app = typer.Typer()


@app.command()
def main(name: str = "world") -> None:
    print(f"hello {name}")


if __name__ == "__main__":
    app()
