{# RFM scoring as the seed's ClickHouse query does it, with exact quantiles (no rounding).
   `measures` is a CTE name with columns <partition>, uid, recency_days, frequency, monetary;
   thresholds are taken per <partition> (one as-of date per partition). Ties go to the lower
   score for F and M (`<=`), see the contract. #}
{% macro rfm_scored(measures, partition) -%}
select
    ms.*,
    toUInt8(multiIf(ms.recency_days <= t.r[1], 5, ms.recency_days <= t.r[2], 4,
                    ms.recency_days <= t.r[3], 3, ms.recency_days <= t.r[4], 2, 1)) as r_score,
    toUInt8(multiIf(ms.frequency <= t.f[1], 1, ms.frequency <= t.f[2], 2,
                    ms.frequency <= t.f[3], 3, ms.frequency <= t.f[4], 4, 5)) as f_score,
    toUInt8(multiIf(ms.monetary <= t.m[1], 1, ms.monetary <= t.m[2], 2,
                    ms.monetary <= t.m[3], 3, ms.monetary <= t.m[4], 4, 5)) as m_score,
    toLowCardinality(concat(toString(r_score), toString(f_score), toString(m_score))) as rfm_code
from {{ measures }} as ms
inner join (
    select
        {{ partition }},
        quantilesExact(0.2, 0.4, 0.6, 0.8)(recency_days) as r,
        quantilesExact(0.2, 0.4, 0.6, 0.8)(frequency) as f,
        quantilesExact(0.2, 0.4, 0.6, 0.8)(monetary) as m
    from {{ measures }}
    group by {{ partition }}
) as t on t.{{ partition }} = ms.{{ partition }}
{%- endmacro %}

{# Per customer with orders before the as-of date: as_of_date, uid, recency_days, frequency, monetary
   and the consent flags, from `orders` (fct_orders: uid, buy_ts, revenue) and `profiles`
   (customer_profiles_base: one row per customer with its order totals and consent flags). With the
   default as-of date (the day after the last order) every order counts, so `profiles` answers
   without aggregating the orders again or joining the customers list. #}
{% macro rfm_measures(orders, profiles) -%}
{%- if var('rfm_as_of_date') %}
    select
        {{ rfm_as_of_date(orders) }} as as_of_date,
        o.uid as uid,
        toUInt32(dateDiff('day', toDate(max(o.buy_ts)), as_of_date)) as recency_days,
        toUInt64(count()) as frequency,
        sum(o.{{ rfm_money() }}) as monetary,
        any(p.email_opt_in) as email_opt_in,
        any(p.sms_opt_in) as sms_opt_in,
        any(p.push_opt_in) as push_opt_in
    from {{ orders }} as o
    left join {{ profiles }} as p on p.uid = o.uid
    where toDate(o.buy_ts) < as_of_date
    group by o.uid
{%- else %}
    select
        {{ rfm_as_of_date(orders) }} as as_of_date,
        uid,
        toUInt32(dateDiff('day', toDate(last_order_ts), as_of_date)) as recency_days,
        orders as frequency,
        {{ rfm_money() }} as monetary,
        email_opt_in,
        sms_opt_in,
        push_opt_in
    from {{ profiles }}
    where orders > 0
{%- endif %}
{%- endmacro %}

{# The money RFM's monetary measure sums (dbt var rfm_monetary): net_revenue (`net`, the default) or
   revenue (`gross`). #}
{% macro rfm_money() -%}
    {%- if var('rfm_monetary') not in ('net', 'gross') -%}
        {{- exceptions.raise_compiler_error("rfm_monetary must be net or gross, not " ~ var('rfm_monetary')) -}}
    {%- endif -%}
    {{- 'net_revenue' if var('rfm_monetary') == 'net' else 'revenue' -}}
{%- endmacro %}

{# The RFM as-of date: dbt var rfm_as_of_date, default the day after the last order date of `orders`. #}
{% macro rfm_as_of_date(orders) -%}
{%- if var('rfm_as_of_date') -%}
    toDate('{{ var("rfm_as_of_date") }}')
{%- else -%}
    (select toDate(max(buy_ts)) + 1 from {{ orders }})
{%- endif -%}
{%- endmacro %}

{# A customer's activity at the RFM as-of date (see rfm_as_of_date, `orders`), as two columns of
   `alias` (a row with orders and last_order_ts): days_since_last_order and activity_status. #}
{% macro customer_activity(alias, orders) -%}
    if({{ alias }}.orders > 0,
       toInt32(dateDiff('day', toDate({{ alias }}.last_order_ts), {{ rfm_as_of_date(orders) }})), null)
        as days_since_last_order,
    toLowCardinality(multiIf({{ alias }}.orders = 0, 'never_ordered', days_since_last_order <= 30, 'active_30d',
                             days_since_last_order <= 90, 'active_90d', 'dormant')) as activity_status
{%- endmacro %}
