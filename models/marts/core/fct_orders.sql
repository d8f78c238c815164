-- depends_on: {{ ref('stg_visits') }}, {{ ref('int_order_amounts') }}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    engine='MergeTree()',
    order_by='(buy_ts, uid)',
    partition_by='toYYYYMM(buy_ts)',
    settings={'enable_block_number_column': 1, 'enable_block_offset_column': 1},
    query_settings={'enable_materialized_cte': 1, 'lightweight_delete_mode': 'lightweight_update'},
    pre_hook="{{ delete_gone_since('order_id', '(select order_id, load_id from ' ~ ref('int_order_amounts') ~ ' where is_sale = 0)',
                                   'refreshed_in') }}",
    post_hook="{{ delete_superseded('order_id', 'refreshed_in') }}"
) }}
-- Patch-part deletes (lightweight update; the delete+insert marts use wide parts and masks instead,
-- dbt_project.yml): late refunds and rates make a daily refresh supersede a few hundred orders of past
-- weeks in most monthly partitions, and the post-hook's delete as a mutation waited on every part
-- holding them (docs/decisions.md).
-- One row per order that is a sale (not cancelled, with an fx rate: int_orders), attributed to the
-- buyer's first-touch channel, device and OS, with its money in the base currency (contract section 5).
-- An order's load_id is the newest load among its inputs (int_order_amounts): a late refund, a new fx
-- rate or product cost rewrites just the orders it touches; the pre-hook deletes orders a reload
-- cancelled.
-- Incremental (macros/incremental_days.sql): appends new or replaced orders and every order of buyers
-- whose attribution (first order, first touch) changed; the post-hook deletes the versions they
-- supersede (same order_id). The result equals a full rebuild; a daily refresh touches a day's buyers.
{% set watermark = incremental_watermark('refreshed_in') %}
-- `buyers` is read three times on a refresh: MATERIALIZED computes it once (~0.2 s at 10M visits).
with buyers as materialized (
    select
        b.*,
        -- Everything a row takes from its buyer: a change here rewrites all the buyer's orders.
        cityHash64(b.first_order_id, b.first_order_ts, b.first_source_id, b.first_device, b.first_os,
                   b.first_country, b.first_region, b.first_city) as attribution_key
    from {{ ref('int_buyers') }} as b
    {% if is_incremental() %}
    where b.uid in (
        select uid from {{ ref('int_order_amounts') }} where load_id > {{ watermark }}
        union distinct
        select uid from {{ ref('stg_visits') }} where load_id > {{ watermark }}
        union distinct  -- previous owners of replaced orders
        select uid from {{ this }}
        where order_id in (select order_id from {{ ref('int_order_amounts') }} where load_id > {{ watermark }})
    )
    {% endif %}
)
select
    o.order_id as order_id,
    o.uid as uid,
    o.buy_ts as buy_ts,
    o.revenue as revenue,
    o.currency as currency,
    assumeNotNull(o.fx_rate) as fx_rate,
    o.refunded as refunded,
    o.discount as discount,
    o.tax as tax,
    o.shipping as shipping,
    o.net_revenue as net_revenue,
    o.cogs as cogs,
    o.gross_profit as gross_profit,
    o.sales_channel as sales_channel,
    o.coupon as coupon,
    toUInt8(o.order_id = b.first_order_id) as is_first_order,
    b.first_order_ts as first_order_ts,
    toStartOfMonth(b.first_order_ts) as order_cohort_month,
    b.first_source_id as first_source_id,
    {{ channel_of('b.first_source_id', 'c') }},
    b.first_device as first_device,
    b.first_os as first_os,
    toLowCardinality(if(o.country = '', b.first_country, o.country)) as country,
    toLowCardinality(if(o.region = '', b.first_region, o.region)) as region,
    toLowCardinality(if(o.city = '', b.first_city, o.city)) as city,
    o.load_id as load_id,
    b.attribution_key as attribution_key,
    toUInt64({{ latest_load_id(ref('stg_load_log')) }}) as refreshed_in,
    -- The last refresh that changed what the sales figures read (sales_daily: day, buyer, revenue, rate,
    -- sales channel, geography, first touch): a late refund or product cost rewrites the order but
    -- keeps this stamp, so sales_daily, customer_flow_monthly and kpi_users_daily do not recompute
    -- the ~20 past days (and months) a day's refunds fall on.
    {% if is_incremental() %}
    if(old.order_id = o.order_id
       and (old.buy_ts, old.uid, old.revenue, old.fx_rate, old.sales_channel, old.first_source_id, old.first_device,
            old.first_os, old.country, old.region, old.city)
           = (buy_ts, uid, revenue, fx_rate, sales_channel, first_source_id, first_device, first_os, country, region, city),
       old.sale_changed_in, refreshed_in)
    {% else %}
    refreshed_in
    {% endif %} as sale_changed_in,
    {% if is_incremental() %}
    if(old.order_id = o.order_id and toDate(old.buy_ts) != toDate(o.buy_ts), toDate(old.buy_ts), null)
    {% else %}
    CAST(null AS Nullable(Date))
    {% endif %} as replaced_day
from {{ ref('int_orders') }} as o
inner join buyers as b on b.uid = o.uid
left join {{ ref('channels') }} as c on c.source_id = b.first_source_id
{% if is_incremental() %}
left join (
    select order_id, buy_ts, uid, revenue, fx_rate, sales_channel, first_source_id, first_device, first_os, country,
        region, city, sale_changed_in
    from {{ this }}
    where order_id in (select order_id from {{ ref('int_orders') }} where load_id > {{ watermark }})
) as old on old.order_id = o.order_id
where o.load_id > {{ watermark }}
   or o.uid in (  -- buyers whose attribution differs from the stored one (or who have no rows yet)
       select uid from buyers
       where (uid, attribution_key) not in (
           select uid, attribution_key from {{ this }} where uid in (select uid from buyers)))
{% endif %}
