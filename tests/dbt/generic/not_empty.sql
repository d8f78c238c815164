{# `column_name` always holds a value: not NULL and not its type's default ('' for text,
   1970-01-01 for dates), which is what a ClickHouse column that is not Nullable holds where
   dbt's not_null could never fail (e.g. a CSV column that did not arrive, a mapping that missed). #}
{% test not_empty(model, column_name) %}
select {{ column_name }} as value
from {{ model }}
where isNull({{ column_name }})
   or assumeNotNull({{ column_name }}) = defaultValueOfArgumentType(assumeNotNull({{ column_name }}))
{% endtest %}
