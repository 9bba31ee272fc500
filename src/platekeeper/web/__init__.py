"""FastAPI app: JSON API, server-rendered UI. No business rules here."""
