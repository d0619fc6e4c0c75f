"""The service schema's history: Django migrations (``makemigrations`` output, applied by ``relay db upgrade``)."""
