{# Incremental bookkeeping. Every macro here takes the relations and columns it reads as arguments;
   what is specific to one model (which inputs make its rows change, its hooks) is in that model.

   Facts: fct_sessions appends new visits and rewrites only users whose first session changed;
   fct_orders rewrites new or replaced orders and the orders of buyers whose attribution (first
   order, first touch) changed, stamping them with refreshed_in = the newest load at that time and
   replaced_day = the day a replaced order used to be on.

   Day-keyed marts (delete+insert by day/week/month) carry load_id = the highest load / refresh
   id among the rows they aggregate, so max(load_id) of a mart is its watermark: a refresh
   recomputes only the periods that rows with a higher id touch (or that a replaced order left).

   Why watermarks and not a lookback window (say, the last three days): inputs arrive late and out
   of order (a visit of last month, an order corrected onto another day, orders reloaded under
   another uid), so what a refresh must recompute can lie on any past day; a window misses it, or
   must span all history. The few compile-time run_query calls below each say what they decide. #}

{# run_query(sql)'s result, asked once per model run. A model's body and its pre-hooks are rendered
   apart (the body when the node compiles, each hook just before it runs) and ask the same questions
   (watermark, days to recompute, whether a late row or a reload arrived) of the same state, before
   any statement of the model has run; asking once halves those lookups (docs/decisions.md). Kept in
   `graph`, the one object every render of an invocation shares, for this invocation only; lookups of
   the model's own results after it wrote (delete_where_any) do not go through here. #}
{% macro run_query_once(sql) -%}
    {%- set memo = graph.setdefault('ecomlytics_run_query_once', {}) -%}
    {%- if memo.get('invocation_id') != invocation_id -%}
        {%- do memo.clear() -%}
        {%- do memo.update({'invocation_id': invocation_id}) -%}
    {%- endif -%}
    {%- set key = model.unique_id ~ ':' ~ sql -%}
    {%- if key not in memo -%}
        {%- do memo.update({key: run_query(sql)}) -%}
    {%- endif -%}
    {{- return(memo[key]) -}}
{%- endmacro %}

{# The value of max(column) in this incremental model, read once when the model is compiled, i.e.
   before any pre-hook changes the table (0 on a first or full build). run_query: the watermark is
   a fact of the stored table, which no window of days can stand for. #}
{% macro incremental_watermark(column) -%}
    {%- if execute and is_incremental() -%}
        {%- set value = run_query_once('select max(' ~ column ~ ') from ' ~ this).columns[0].values()[0] -%}
        {{- return(value or 0) -}}
    {%- else -%}
        {{- return(0) -}}
    {%- endif -%}
{%- endmacro %}

{# The newest load id (any input) in `load_log` (stg_load_log): what a refresh has seen. #}
{% macro latest_load_id(load_log) -%}
    (select max(load_id) from {{ load_log }})
{%- endmacro %}

{% macro mart_watermark() -%}
    (select max(load_id) from {{ this }})
{%- endmacro %}

{# Periods of `relation`'s rows from loads after the mart's watermark: the periods to recompute. #}
{% macro new_load_periods(relation, period_expr) -%}
    (select distinct {{ period_expr }} from {{ relation }} where load_id > {{ mart_watermark() }})
{%- endmacro %}

{# Days whose order-based figures change: days of `orders` (fct_orders: buy_ts, refreshed_in,
   replaced_day) rewritten since the mart's last refresh, the days replaced orders left, and, when
   `items` (item lines: order_id, load_id) is given, days of orders with new item lines; when
   `amounts` (int_order_amounts: order_id, uid, buy_ts, replaced_day, is_sale, load_id) is given,
   days of orders that are no longer (or not) sales from loads since (they leave `orders`) and the
   days such orders left, and, with `first_touch` (int_first_touch: uid, visits_load_id), days of
   non-sales whose buyer's first touch changed (cancelled orders, counted by it).
   `watermark`: a literal (models whose pre-hook deletes rows, see incremental_watermark) or, by
   default, the mart's max(load_id) read when the query runs. `stamp`: the column of `orders` that
   says when a row changed for this mart (sale_changed_in: marts that do not read refunds or costs). #}
{% macro changed_order_days(orders, items=none, watermark=none, amounts=none, first_touch=none, stamp='refreshed_in') -%}
    {%- set watermark = mart_watermark() if watermark is none else watermark -%}
    (select arrayJoin(arrayFilter(d -> d != toDate(0), [toDate(buy_ts), ifNull(replaced_day, toDate(0))])) as day
     from {{ orders }}
     where {{ stamp }} > {{ watermark }}
     {%- if items is not none %}
        or order_id in (select order_id from {{ items }} where load_id > {{ watermark }})
     {%- endif %}
     {%- if amounts is not none %}
     union all
     select arrayJoin(arrayFilter(d -> d != toDate(0), [toDate(buy_ts), ifNull(replaced_day, toDate(0))]))
     from {{ amounts }}
     where is_sale = 0 and (load_id > {{ watermark }}
     {%- if first_touch is not none %}
                            or uid in (select uid from {{ first_touch }} where visits_load_id > {{ watermark }})
     {%- endif %})
     {%- endif -%})
{%- endmacro %}

{# The earliest month of a day changed_order_days (no item lines; `amounts`, `first_touch`, `stamp` as there) reports
   against this model's watermark, read at compile time so that a pre-hook deleting rows before the body runs does
   not move it; NULL if no order changed. #}
{% macro first_month_with_changed_orders(orders, amounts=none, first_touch=none, stamp='refreshed_in') -%}
    (select toStartOfMonth(minOrNull(day)) from {{ changed_order_days(orders, watermark=incremental_watermark('load_id'),
                                                                      amounts=amounts, first_touch=first_touch, stamp=stamp) }})
{%- endmacro %}

{# The dates a `days` subquery (changed_days(), changed_order_days()) returns, read once when the
   model is compiled, as a literal set: a model filtering several CTEs by them runs the subquery
   once, and the engine prunes by the literal days. Same result: the model's own table is the only
   input that changes between compiling and running it, and `days` reads it before any write.
   run_query: the days are those the new loads touch, anywhere in history, not the last few. #}
{% macro days_set(days) -%}
    {%- if execute and is_incremental() -%}
        {#- rows, not columns: an empty result has no columns (a refresh with nothing new) -#}
        {%- set rows = run_query_once('select distinct toString(d) as day from (select * from ' ~ days ~ ') as t(d) order by day').rows -%}
        {%- if rows | length > 0 -%}
            ({%- for row in rows %}toDate('{{ row[0] }}'){{ ", " if not loop.last }}{% endfor -%})
        {%- else -%}
            (select toDate(0) where 0)
        {%- endif -%}
    {%- else -%}
        {{- days -}}
    {%- endif -%}
{%- endmacro %}

{# The first days of the months of `days`, a literal set from days_set (models replacing whole monthly
   partitions); an empty set for an empty or not yet literal `days` (parsing, full builds). #}
{% macro months_of(days) -%}
    {%- set list = '[' ~ days[1:-1] ~ ']' if days.startswith('(toDate(') else 'CAST([] AS Array(Date))' -%}
    (select distinct toStartOfMonth(arrayJoin({{ list }})))
{%- endmacro %}

{# Days to recompute in marts that combine `sessions` (start_ts, load_id) and `orders` (see
   changed_order_days, with its `items`, `amounts` and `first_touch`) per day. #}
{% macro changed_days(sessions, orders, items, amounts=none, first_touch=none) -%}
    (select * from {{ new_load_periods(sessions, 'toDate(start_ts)') }}
     union distinct select * from {{ changed_order_days(orders, items, amounts=amounts, first_touch=first_touch) }})
{%- endmacro %}

{# Cohort cells (cohort x months since) that rows of `sessions` (fct_sessions: load_id,
   is_first_session, visit_cohort_month, start_ts) from loads after `watermark` (default: this
   model's, read at compile time) can change: cohorts from the earliest cohort month of a first
   session among them on (new users; users a late visit moved earlier, whose former cohort is
   later), and every cohort's cell for a month they fall on. False when no new session arrived. #}
{% macro cohort_cells_with_new_sessions(sessions, cohort_month, activity_month, watermark=none) -%}
    {%- set watermark = incremental_watermark('load_id') if watermark is none else watermark -%}
    ({{ cohort_month }} >= (select minOrNull(visit_cohort_month) from {{ sessions }}
                         where load_id > {{ watermark }} and is_first_session = 1)
     or {{ activity_month }} in (select toStartOfMonth(start_ts) from {{ sessions }} where load_id > {{ watermark }}))
{%- endmacro %}

{# Runs `delete from this where <condition>` only when a row matches: a mutation costs seconds on a
   big table even when it deletes nothing, and on a normal daily refresh nothing needs deleting.
   The delete takes the model's query settings, as dbt's own delete+insert step does (fct_orders:
   patch-part deletes, lightweight_delete_mode). run_query: whether to issue the statement at all
   is decided before it runs. #}
{% macro delete_where_any(condition) -%}
    {%- if is_incremental() and run_query('select count() from ' ~ this ~ ' where ' ~ condition).columns[0].values()[0] > 0 -%}
        delete from {{ this }} where {{ condition }} {{ adapter.get_model_query_settings(model) }}
    {%- endif -%}
{%- endmacro %}

{# Whether `relation` (an append-only input with load_id) has a row from a load after `watermark`
   whose `ts_column` is no later than `bound`, a scalar SQL expression (default: the newest
   `ts_column` loaded up to the watermark). A daily drop of new days has no such late row, so the
   models that check this skip their per-user comparisons and rewrites. False when no row arrived.
   run_query: the answer picks the SQL a model runs; a late row may belong to any past day, so no
   lookback window can tell. #}
{% macro late_rows_since(relation, ts_column, watermark, bound=none) -%}
    {%- if execute and is_incremental() -%}
        {%- set bound = bound or '(select max(' ~ ts_column ~ ') from ' ~ relation ~ ' where load_id <= ' ~ watermark ~ ')' -%}
        {%- set check = 'select (select minOrNull(' ~ ts_column ~ ') from ' ~ relation ~ ' where load_id > ' ~ watermark
                        ~ ') <= ' ~ bound -%}
        {{- return(run_query_once(check).columns[0].values()[0] == 1) -}}
    {%- else -%}
        {{- return(false) -}}
    {%- endif -%}
{%- endmacro %}

{# Pre-hook of a model keyed by `key` whose rows leave when a newer load (after the model's max
   `version`) marks them gone: rows whose key is in `gone` (a relation: key, load_id) from such a
   load go (fct_orders: orders a reload made no longer sales). #}
{% macro delete_gone_since(key, gone, version) -%}
    {%- if is_incremental() -%}
        {{- delete_where_any(key ~ ' in (select ' ~ key ~ ' from ' ~ gone ~ ' where load_id > '
                             ~ incremental_watermark(version) ~ ')') -}}
    {%- endif -%}
{%- endmacro %}

{# Post-hook of a model that appends new versions of rows: older versions (a lower `version`) of the
   `key`s this run wrote (the newest `version`) go. #}
{% macro delete_superseded(key, version) -%}
    {%- set newest = '(select max(' ~ version ~ ') from ' ~ this ~ ')' -%}
    {{- delete_where_any(version ~ ' < ' ~ newest ~ ' and ' ~ key ~ ' in (select ' ~ key ~ ' from ' ~ this
                         ~ ' where ' ~ version ~ ' = ' ~ newest ~ ')') -}}
{%- endmacro %}
