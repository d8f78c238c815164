{{ config(engine='MergeTree()', order_by='(macro_segment, segment)') }}
-- Customers and revenue per RFM segment at the as-of date: what the RFM dashboard's shares and
-- action table show, a few dozen rows instead of one row per customer.
select
    as_of_date,
    segment,
    macro_segment,
    any(recommended_action) as recommended_action,
    toUInt64(count()) as customers,
    sum(monetary) as monetary
from {{ ref('rfm_scores') }}
group by as_of_date, segment, macro_segment
