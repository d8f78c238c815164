{# Activity per period: distinct users (count and exact mergeable state), sessions, mean length. #}
{% macro activity_by(period_expr, period_name, users_name) -%}
select
    {{ period_expr }} as {{ period_name }},
    toUInt64(uniqExact(uid)) as {{ users_name }},
    uniqExactState(uid) as users_state,
    toUInt64(count()) as sessions,
    avg(duration_s) as avg_session_s
from {{ ref('fct_sessions') }}
group by {{ period_name }}
{%- endmacro %}
