"""stub"""
import click


@click.group()
def apps() -> None:
    """stub"""
