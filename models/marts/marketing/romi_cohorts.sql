{{ config(engine='MergeTree()', order_by='(cohort_month, source_id, age_month)') }}
-- ROMI per buyer cohort, first-touch source and age: LTV(k) / CAC(cohort month, source) - 1.
-- payback_month = the first age with ROMI >= 0 (NULL if never).
with cohorts as (
    select
        cohort_month, first_source_id as source_id, age_month,
        sum(cohort_buyers) as cohort_buyers,
        sum(cum_gross_profit) as cum_gross_profit
    from {{ ref('ltv_monthly') }}
    group by cohort_month, source_id, age_month
),
scored as (
    select
        r.cohort_month as cohort_month,
        r.source_id as source_id,
        r.age_month as age_month,
        r.cohort_buyers as cohort_buyers,
        toFloat64(ifNull(m.costs, 0)) as costs,
        if(costs > 0, costs / r.cohort_buyers, null) as cac,
        r.cum_gross_profit as cum_gross_profit,
        r.cum_gross_profit / r.cohort_buyers as ltv,
        if(cac > 0, ltv / cac - 1, null) as romi
    from cohorts as r
    left join {{ ref('marketing_monthly') }} as m on m.month = r.cohort_month and m.source_id = r.source_id
)
select
    s.*,
    {{ channel_of('s.source_id', 'c') }},
    minIf(s.age_month, s.romi >= 0) over (partition by s.cohort_month, s.source_id) as first_paid_age,
    if(countIf(s.romi >= 0) over (partition by s.cohort_month, s.source_id) > 0, first_paid_age, null)
        as payback_month
from scored as s
left join {{ ref('channels') }} as c on c.source_id = s.source_id
