{# Incremental bookkeeping.

   Facts: fct_sessions appends new visits and rewrites only users whose first session changed;
   fct_orders rewrites new or replaced orders and the orders of buyers whose attribution (first
   order, first touch) changed, stamping them with refreshed_in = the newest load at that time and
   replaced_day = the day a replaced order used to be on.

   Day-keyed marts (delete+insert by day/week/month) carry load_id = the highest load / refresh
   id among the rows they aggregate, so max(load_id) of a mart is its watermark: a refresh
   recomputes only the periods that rows with a higher id touch (or that a replaced order left). #}

{# The value of max(column) in this incremental model, read once when the model is compiled, i.e.
   before any pre-hook changes the table (0 on a first or full build). #}
{% macro incremental_watermark(column) -%}
    {%- if execute and is_incremental() -%}
        {%- set value = run_query('select max(' ~ column ~ ') from ' ~ this).columns[0].values()[0] -%}
        {{- return(value or 0) -}}
    {%- else -%}
        {{- return(0) -}}
    {%- endif -%}
{%- endmacro %}

{# The newest load id (any input): what a refresh has seen. #}
{% macro latest_load_id() -%}
    (select max(load_id) from {{ source('raw', 'load_log') }})
{%- endmacro %}

{% macro mart_watermark() -%}
    (select max(load_id) from {{ this }})
{%- endmacro %}

{# Periods of `relation`'s rows from loads after the mart's watermark: the periods to recompute. #}
{% macro new_load_periods(relation, period_expr) -%}
    (select distinct {{ period_expr }} from {{ relation }} where load_id > {{ mart_watermark() }})
{%- endmacro %}

{# Periods whose sessions-based figures change: periods of sessions from new loads. #}
{% macro new_session_periods(period_expr) -%}
    {{- new_load_periods(ref('fct_sessions'), period_expr) -}}
{%- endmacro %}

{# Days whose order-based figures change: days of orders fct_orders rewrote since the mart's last
   refresh, the days replaced orders left, days of orders that are no longer (or not) sales from
   loads since or whose buyer's first touch changed (cancelled orders, counted by it) and the days
   such orders left, and (items=true, for marts with units) days of orders with new
   item lines. `watermark`: a literal (models whose pre-hook deletes rows, see
   incremental_watermark) or, by default, the mart's max(load_id) read when the query runs. #}
{% macro changed_order_days(items=true, watermark=none) -%}
    {%- set watermark = mart_watermark() if watermark is none else watermark -%}
    (select arrayJoin(arrayFilter(d -> d != toDate(0), [toDate(buy_ts), ifNull(replaced_day, toDate(0))])) as day
     from {{ ref('fct_orders') }}
     where refreshed_in > {{ watermark }}
     {%- if items %}
        or order_id in (select order_id from {{ ref('stg_order_items') }} where load_id > {{ watermark }})
     {%- endif %}
     union all
     select arrayJoin(arrayFilter(d -> d != toDate(0), [toDate(buy_ts), ifNull(replaced_day, toDate(0))]))
     from {{ ref('int_order_amounts') }}
     where is_sale = 0 and (load_id > {{ watermark }}
                            or uid in (select uid from {{ ref('int_first_touch') }} where visits_load_id > {{ watermark }})))
{%- endmacro %}

{# The earliest month of a day changed_order_days (no item lines) reports against this model's
   watermark, read at compile time so that a pre-hook deleting rows before the body runs does not
   move it; NULL if no order changed. #}
{% macro first_month_with_changed_orders() -%}
    (select toStartOfMonth(minOrNull(day)) from {{ changed_order_days(items=false, watermark=incremental_watermark('load_id')) }})
{%- endmacro %}

{# The dates a `days` subquery (changed_days(), changed_order_days()) returns, read once when the
   model is compiled, as a literal set: a model filtering several CTEs by them runs the subquery
   once, and the engine prunes by the literal days. Same result: the model's own table is the only
   input that changes between compiling and running it, and `days` reads it before any write. #}
{% macro days_set(days) -%}
    {%- if execute and is_incremental() -%}
        {#- rows, not columns: an empty result has no columns (a refresh with nothing new) -#}
        {%- set rows = run_query('select distinct toString(d) as day from (select * from ' ~ days ~ ') as t(d) order by day').rows -%}
        {%- if rows | length > 0 -%}
            ({%- for row in rows %}toDate('{{ row[0] }}'){{ ", " if not loop.last }}{% endfor -%})
        {%- else -%}
            (select toDate(0) where 0)
        {%- endif -%}
    {%- else -%}
        {{- days -}}
    {%- endif -%}
{%- endmacro %}

{# Days to recompute in marts that combine sessions and orders per day. #}
{% macro changed_days() -%}
    (select * from {{ new_session_periods('toDate(start_ts)') }} union distinct select * from {{ changed_order_days() }})
{%- endmacro %}

{# Users whose first session is a visit from a load after `watermark`: new users, and users a late
   visit moved earlier (visits are append-only, so a first session changes only that way;
   int_first_touch keeps the first visit's load id, see int_first_touch.sql). #}
{% macro users_with_new_first_session(watermark) -%}
    (select uid from {{ ref('int_first_touch') }} where visits_load_id > {{ watermark }})
{%- endmacro %}

{# Cohort cells (cohort x months since) that sessions from loads after `watermark` (default: this
   model's, read at compile time) can change: cohorts from the earliest cohort month of a first
   session among them on (new users; users a late visit moved earlier, whose former cohort is
   later), and every cohort's cell for a month they fall on. False when no new session arrived. #}
{% macro cohort_cells_with_new_sessions(cohort_month, activity_month, watermark=none) -%}
    {%- set watermark = incremental_watermark('load_id') if watermark is none else watermark -%}
    ({{ cohort_month }} >= (select minOrNull(visit_cohort_month) from {{ ref('fct_sessions') }}
                         where load_id > {{ watermark }} and is_first_session = 1)
     or {{ activity_month }} in (select toStartOfMonth(start_ts) from {{ ref('fct_sessions') }} where load_id > {{ watermark }}))
{%- endmacro %}

{# Runs `delete from this where <condition>` only when a row matches: a mutation costs seconds on a
   big table even when it deletes nothing, and on a normal daily refresh nothing needs deleting. #}
{% macro delete_where_any(condition) -%}
    {%- if is_incremental() and run_query('select count() from ' ~ this ~ ' where ' ~ condition).columns[0].values()[0] > 0 -%}
        delete from {{ this }} where {{ condition }}
    {%- endif -%}
{%- endmacro %}

{# fct_sessions pre-hook: users whose first session changed lose their rows, rewritten whole by the
   model; only after a late visit (see late_visits_since). #}
{% macro delete_sessions_of_users_with_new_first_session() -%}
    {%- if is_incremental() -%}
        {%- set watermark = incremental_watermark('load_id') -%}
        {%- if late_visits_since(watermark) -%}
            {{- delete_where_any('load_id <= ' ~ watermark ~ ' and uid in ' ~ users_with_new_first_session(watermark)) -}}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{# Whether a visit from a load after `watermark` starts no later than the newest visit loaded up to
   it. Visits are append-only, so only such a late visit can move an existing user's first session;
   a daily drop of new days has none, and the per-user checks and rewrites are skipped. False when
   no visit arrived (minOrNull). #}
{% macro late_visits_since(watermark) -%}
    {%- if execute and is_incremental() -%}
        {%- set check = 'select (select minOrNull(start_ts) from ' ~ ref('stg_visits') ~ ' where load_id > ' ~ watermark
                        ~ ') <= (select max(start_ts) from ' ~ ref('stg_visits') ~ ' where load_id <= ' ~ watermark ~ ')' -%}
        {{- return(run_query(check).columns[0].values()[0] == 1) -}}
    {%- else -%}
        {{- return(false) -}}
    {%- endif -%}
{%- endmacro %}

{# fct_orders pre-hook: orders a load since the last refresh made no longer sales (a reload as
   cancelled) go; changed_order_days reports their days. #}
{% macro delete_orders_no_longer_sales() -%}
    {%- if is_incremental() -%}
        {{- delete_where_any('order_id in (select order_id from ' ~ ref('int_order_amounts') ~ ' where is_sale = 0 and load_id > '
                             ~ incremental_watermark('refreshed_in') ~ ')') -}}
    {%- endif -%}
{%- endmacro %}

{# fct_orders post-hook: older versions of orders this refresh rewrote (same order_id) go. #}
{% macro delete_superseded_orders() -%}
    {%- set newest = '(select max(refreshed_in) from ' ~ this ~ ')' -%}
    {{- delete_where_any('refreshed_in < ' ~ newest ~ ' and order_id in (select order_id from ' ~ this
                         ~ ' where refreshed_in = ' ~ newest ~ ')') -}}
{%- endmacro %}
