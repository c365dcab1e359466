"""Server-rendered pages: the public booking and manage pages, the staff dashboard, and the
security every page needs (headers, CSRF, hashed static files)."""
