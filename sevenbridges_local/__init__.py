"""A local Seven Bridges platform: the REST API v2 served by FastAPI on your own machine.

Start it with ``sbg local serve`` (or ``python -m sevenbridges_local serve``), from code with
:class:`sevenbridges_local.embedded.EmbeddedServer`, or build the ASGI app yourself with
:func:`sevenbridges_local.app.create_app`. Importing this package stays cheap: the server's
dependencies load only when one of those modules is imported.
"""
