{# `column_name` is the model's key: unique and never NULL, checked in one pass (one test node
   instead of dbt's unique + not_null pair, which would read the column twice).
   `changed_column` (incremental models): the refresh stamp of each row; a refresh then checks the
   keys of the rows written since the last pass against the whole table (macros/verified_checks.sql). #}
{% test primary_key(model, column_name, changed_column=none) %}
{%- set since = verified_since('primary_key', model, column_name, changed_column) %}
select {{ column_name }} as key, count() as rows
from {{ model }}
{%- if since is not none %}
where key is null or key in (select {{ column_name }} from {{ model }} where ifNull({{ changed_column }} > {{ since }}, true))
{%- endif %}
group by key
having rows > 1 or key is null
{% endtest %}
