"""The web console: server-rendered pages for the three roles, in the same FastAPI
app as the API, calling the same service functions (never the database)."""
