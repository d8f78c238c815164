{# Activity per period of `sessions` (fct_sessions: uid, start_ts, duration_s, load_id): distinct
   users (count and exact mergeable state), sessions, mean length.
   Incremental by period: only periods with sessions from new loads are recomputed. #}
{% macro activity_by(sessions, period_expr, period_name, users_name) -%}
select
    {{ period_expr }} as {{ period_name }},
    toUInt64(uniqExact(uid)) as {{ users_name }},
    uniqExactState(uid) as users_state,
    toUInt64(count()) as sessions,
    avg(duration_s) as avg_session_s,
    max(load_id) as load_id
from {{ sessions }}
{% if is_incremental() %}
where {{ period_expr }} in {{ new_load_periods(sessions, period_expr) }}
{% endif %}
group by {{ period_name }}
{%- endmacro %}
