{{ config(
    materialized='incremental',
    incremental_strategy='append',
    order_by='uid',
    engine='MergeTree()',
    query_settings={'enable_materialized_cte': 1}
) }}
-- A dense 32-bit key per user (uid), for exact distinct counts as roaring bitmaps (groupBitmap):
-- bitmaps of small dense integers merge and deserialise far faster than uniqExact hash sets of
-- the random 64-bit uids (kpi_users_daily, kpi_users_monthly). Keys are 1, 2, 3, ... in the order
-- users first appear (visits or orders), so a day's users are largely neighbours.
-- Incremental, append only: a key, once given, never changes; users of new loads without a key get
-- the next ones after the highest key. A full rebuild may number users otherwise (loads arrive in
-- another order than their visits' times): a key means nothing outside a bitmap, and every count
-- made from the keys is the same either way.
{% set watermark = incremental_watermark('load_id') %}
with seen as materialized (  -- read twice on a refresh: computed once
    select uid, start_ts as ts, load_id from {{ ref('stg_visits') }}
    {% if is_incremental() %}where load_id > {{ watermark }}{% endif %}
    union all
    select uid, buy_ts, load_id from {{ ref('stg_orders') }}
    {% if is_incremental() %}where load_id > {{ watermark }}{% endif %}
),
new_users as (
    select uid, min(ts) as first_ts, max(load_id) as load_id
    from seen
    {% if is_incremental() %}
    where uid not in (select uid from {{ this }} where uid in (select uid from seen))
    {% endif %}
    group by uid
)
select
    uid,
    toUInt32({% if is_incremental() %}(select max(user_key) from {{ this }}) + {% endif %}
             row_number() over (order by first_ts, uid)) as user_key,
    load_id
from new_users
