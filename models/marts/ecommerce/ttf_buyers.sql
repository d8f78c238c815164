{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='uid',
    engine='MergeTree()',
    order_by='uid',
    pre_hook="{{ delete_where_any('uid not in (select uid from ' ~ ref('int_buyers') ~ ')') }}"
) }}
-- Time to first order for buyers with a visit: first buy_ts - first_visit_ts (negative -> 0).
-- Incremental: a row depends only on the buyer's int_buyers row, so a refresh rewrites the buyers
-- int_buyers rewrote since (refreshed_in); the pre-hook drops buyers int_buyers no longer holds
-- (their orders moved to other uids). The result equals a full rebuild.
with buyers as (
    select
        uid, first_visit_ts, first_order_ts,
        toInt64(greatest(0, dateDiff('second', assumeNotNull(first_visit_ts), first_order_ts))) as ttf_seconds,
        first_source_id, first_device, first_os, refreshed_in
    from {{ ref('int_buyers') }}
    where has_visit
    {% if is_incremental() %}and refreshed_in > {{ incremental_watermark('refreshed_in') }}{% endif %}
),
bucketed as (
    select
        *,
        multiIf(ttf_seconds < 60, 1, ttf_seconds < 600, 2, ttf_seconds < 3600, 3, ttf_seconds < 86400, 4,
                ttf_seconds < 7 * 86400, 5, ttf_seconds < 30 * 86400, 6, ttf_seconds < 90 * 86400, 7, 8)
            as ttf_bucket_order
    from buyers
)
select
    b.uid as uid,
    assumeNotNull(b.first_visit_ts) as first_visit_ts,
    b.first_order_ts as first_order_ts,
    toDate(b.first_order_ts) as first_order_date,
    b.ttf_seconds as ttf_seconds,
    b.first_source_id as first_source_id,
    {{ channel_of('b.first_source_id', 'c') }},
    b.first_device as first_device,
    b.first_os as first_os,
    toUInt8(b.ttf_bucket_order) as ttf_bucket_order,
    toLowCardinality(['0-1 min', '1-10 min', '10-60 min', '1-24 h', '1-7 d', '7-30 d', '30-90 d', '90+ d']
        [b.ttf_bucket_order]) as ttf_bucket,
    b.refreshed_in as refreshed_in
from bucketed as b
left join {{ ref('channels') }} as c on c.source_id = b.first_source_id
