"""stub"""
import click


@click.group()
def tasks() -> None:
    """stub"""
