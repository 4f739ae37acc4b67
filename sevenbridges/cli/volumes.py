"""stub"""
import click


@click.group()
def volumes() -> None:
    """stub"""
