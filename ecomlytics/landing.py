"""After logging in, each role lands on its own dashboard instead of Superset's generic home.

Superset sends a freshly logged-in user to ``/``; this index view (``FAB_INDEX_VIEW``) redirects
users of ecomlytics' roles to their dashboard (``RoleSpec.landing``), everyone else (Admin,
custom roles) to Superset's home as before.
"""

from __future__ import annotations

from flask import g, redirect
from flask_appbuilder import expose
from superset.initialization import SupersetIndexView

from ecomlytics.superset_setup import landing_dashboard


class LandingIndexView(SupersetIndexView):
    @expose("/")
    def index(self):  # noqa: ANN201 - a Flask response
        user = getattr(g, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            slug = landing_dashboard(role.name for role in user.roles)
            if slug:
                return redirect(f"/superset/dashboard/{slug}/")
        return super().index()
