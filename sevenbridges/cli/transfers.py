"""stub"""
import click


@click.group()
def transfers() -> None:
    """stub"""
