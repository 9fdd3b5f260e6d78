"""The gallery's Jinja2 templates and static files. They stay at the top of the repository, where a
template author looks for them, and install as the package data `builder.site_template`
(pyproject.toml maps the folder), so a wheel carries them and builder.gallery.site finds them
through importlib.resources."""
