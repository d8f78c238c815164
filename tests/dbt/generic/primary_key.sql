{# `column_name` is the model's key: unique and never NULL, checked in one pass (one test node
   instead of dbt's unique + not_null pair, which would read the column twice). #}
{% test primary_key(model, column_name) %}
select {{ column_name }} as key, count() as rows
from {{ model }}
group by key
having rows > 1 or key is null
{% endtest %}
