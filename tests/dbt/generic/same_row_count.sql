{# The model has one row per row of `compare_to` (a grain with no key of its own, e.g. one row per
   input visit): the two row counts are equal. Catches a duplicated or lost row at the cost of two
   count()s (MergeTree answers count() from part metadata), where a grain check over every column
   of 10M sessions would read them all on every refresh.
   `on_refresh: false` (views, whose count() runs their joins): on a
   daily refresh the check is skipped (macros/verified_checks.sql, refresh_run); it runs on the first
   build, a full refresh and with --verify-all. Use it only where the rows can change on a refresh
   solely through tables whose own key tests run on every refresh. #}
{% test same_row_count(model, compare_to, on_refresh=true) %}
{%- if on_refresh or not refresh_run() %}
select rows, expected
from (select (select count() from {{ model }}) as rows, (select count() from {{ compare_to }}) as expected)
where rows != expected
{%- else %}
select 0 as rows, 0 as expected where 0 -- a refresh: checked on full builds and with --verify-all
{%- endif %}
{% endtest %}
