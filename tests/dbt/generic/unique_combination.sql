{# The combination of `columns` identifies a row (a composite key: the model's grain).
   `changed_column` (incremental models rewritten by period, the first of `columns`): the refresh
   stamp of each row; a refresh then checks only the periods of the rows stamped since the last
   pass (macros/verified_checks.sql), every row on a full refresh or with verify_all. The period
   filter is on the table's sort-key prefix, so a daily refresh reads about one day of rows. #}
{% test unique_combination(model, columns, changed_column=none) %}
{%- set since = verified_since('unique_combination', model, columns | join('+'), changed_column) %}
select {{ columns | join(', ') }}, count() as rows
from {{ model }}
{%- if since is not none %}
where {{ columns[0] }} in (select {{ columns[0] }} from {{ model }} where ifNull({{ changed_column }} > {{ since }}, true))
{%- endif %}
group by {{ columns | join(', ') }}
having rows > 1
{% endtest %}
