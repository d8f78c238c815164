-- RFM segment counts add up to the customers with orders before the as-of date, and every
-- rfm_code maps to a segment (the seed covers all 125 codes).
select 'segments vs customers' as check, toFloat64(s.n) as value
from (select count() as n from {{ ref('rfm_scores') }} where segment != '') as s
cross join (
    select uniqExact(uid) as n from {{ ref('fct_orders') }} where toDate(buy_ts) < {{ rfm_as_of_date(ref('fct_orders')) }}
) as c
where s.n != c.n
union all
select 'codes in seed', toFloat64(count()) from {{ ref('rfm_segments') }} having count() != 125
union all
select 'monthly snapshot unmapped', toFloat64(sum(customers)) from {{ ref('rfm_monthly') }}
where segment = '' having sum(customers) > 0
union all
select 'summary vs customers', toFloat64(s.n)
from (select sum(customers) as n from {{ ref('rfm_summary') }}) as s
cross join (select count() as n from {{ ref('rfm_scores') }}) as c
where s.n != c.n
