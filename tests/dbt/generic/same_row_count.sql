{# The model has one row per row of `compare_to` (a grain with no key of its own, e.g. one row per
   input visit): the two row counts are equal. Catches a duplicated or lost row at the cost of two
   count()s (MergeTree answers count() from part metadata), where a grain check over every column
   of 10M sessions would read them all on every refresh. #}
{% test same_row_count(model, compare_to) %}
select rows, expected
from (select (select count() from {{ model }}) as rows, (select count() from {{ compare_to }}) as expected)
where rows != expected
{% endtest %}
