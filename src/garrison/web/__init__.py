"""The console: web pages for operators on the HTTPS port, served by the same process.

Server-rendered HTML (Jinja2, autoescaped) with a little JavaScript of Garrison's own for
live updates; charts are SVG drawn on the server. No CDN, no front-end build: everything
the browser loads comes from ``/static``. `app.mount` adds the pages to the HTTPS app;
`session` decides who is logged in, `csrf` guards every form, `security` sets the
Content-Security-Policy, `templating` renders, and `pages/` holds one module an area.
"""
