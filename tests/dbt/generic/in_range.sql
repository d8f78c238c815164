{# Every non-NULL value of `column_name` lies in [min_value, max_value] (either bound optional). #}
{% test in_range(model, column_name, min_value=none, max_value=none) %}
select {{ column_name }} as value
from {{ model }}
where {{ "false" if min_value is none else column_name ~ " < " ~ min_value }}
   or {{ "false" if max_value is none else column_name ~ " > " ~ max_value }}
{% endtest %}
