{# The model has exactly one row (a headline table). #}
{% test one_row(model) %}
select rows from (select count() as rows from {{ model }}) where rows != 1
{% endtest %}
