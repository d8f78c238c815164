-- Buyers in the marts equal distinct buyers of the sales (int_orders: not cancelled, with an fx rate).
with (select uniqExact(uid) from {{ ref('int_orders') }}) as raw_buyers
select check, mart, raw_buyers as raw
from (
    select 'buyers' as check, (select uniqExactMerge(buyers_state) from {{ ref('kpi_daily') }}) as mart
    union all
    select 'cohort buyers', (select sum(cohort_buyers) from {{ ref('ltv_monthly') }} where age_month = 0)
)
where mart != raw_buyers
