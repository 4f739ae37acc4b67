"""Domain rules of the local platform. Routers call these; these talk to the database."""
