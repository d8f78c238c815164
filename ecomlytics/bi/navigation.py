"""Finding one's dashboards: each role lands on its own after login, and a menu lists only those it may open.

- Superset sends a freshly logged-in user to ``/``; this index view (``FAB_INDEX_VIEW``) redirects
  users of ecomlytics' roles to their dashboard (``RoleSpec.landing``), everyone else (Admin,
  custom roles) to Superset's home as before.
- ``add_dashboard_menu`` (``FLASK_APP_MUTATOR``) adds a "My dashboards" menu to the top bar with one
  entry per dashboard of the bundle. Superset shows a menu entry only to roles granted its
  ``menu_access`` permission, which ``bi.setup.ensure_roles`` grants with the dashboard, so
  nobody is shown a link to a page they may not open.
"""

from __future__ import annotations

from flask import g, redirect
from flask_appbuilder import expose
from superset.initialization import SupersetIndexView

from ecomlytics.bi.setup import DASHBOARD_MENU, bundle_dashboards, dashboard_menu_name, landing_dashboard


class LandingIndexView(SupersetIndexView):
    @expose("/")
    def index(self):  # noqa: ANN201 - a Flask response
        user = getattr(g, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            slug = landing_dashboard(role.name for role in user.roles)
            if slug:
                return redirect(f"/superset/dashboard/{slug}/")
        return super().index()


def add_dashboard_menu(app) -> None:  # noqa: ANN001 - the Flask app
    """One menu entry per dashboard of the bundle, under DASHBOARD_MENU."""
    from superset.extensions import appbuilder

    for slug, title in bundle_dashboards():
        appbuilder.add_link(dashboard_menu_name(slug), label=title, href=f"/superset/dashboard/{slug}/",
                            category=DASHBOARD_MENU, category_label="My dashboards")
