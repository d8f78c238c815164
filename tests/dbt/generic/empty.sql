{# The model has no rows (e.g. a list of data issues: configure severity warn to be told, not stopped). #}
{% test empty(model) %}
select * from {{ model }}
{% endtest %}
