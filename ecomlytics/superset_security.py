"""Superset security manager: contact data (PII) only for roles granted its datasets.

With DASHBOARD_RBAC, Superset lets anyone who may open a dashboard query the datasets of the
charts on it. That would hand the RFM contacts table to every role that can open the RFM
dashboard. Here the PII datasets (names, e-mails, phones) are only served to users with explicit
access to them (CRM, Admin), whichever dashboard a request names.
"""

from __future__ import annotations

from typing import Any

from superset.errors import ErrorLevel, SupersetError, SupersetErrorType
from superset.exceptions import SupersetSecurityException
from superset.security import SupersetSecurityManager

from ecomlytics.superset_setup import PII_DATASETS


class EcomlyticsSecurityManager(SupersetSecurityManager):
    def raise_for_access(self, **kwargs: Any) -> None:
        datasource = kwargs.get("datasource")
        if kwargs.get("query_context") is not None:
            datasource = kwargs["query_context"].datasource
        elif kwargs.get("viz") is not None:
            datasource = kwargs["viz"].datasource
        if getattr(datasource, "table_name", None) in PII_DATASETS and not self._granted_pii(datasource):
            raise SupersetSecurityException(SupersetError(
                error_type=SupersetErrorType.DATASOURCE_SECURITY_ACCESS_ERROR,
                message=f"{datasource.table_name} holds contact data: CRM and Admin only",
                level=ErrorLevel.ERROR,
            ))
        super().raise_for_access(**kwargs)

    def _granted_pii(self, datasource: Any) -> bool:
        return (self.can_access_all_datasources()
                or self.can_access("datasource_access", datasource.perm or ""))
