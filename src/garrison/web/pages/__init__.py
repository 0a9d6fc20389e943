"""The console's pages, one module an area; each exports ``router`` (a `console_router`)."""
