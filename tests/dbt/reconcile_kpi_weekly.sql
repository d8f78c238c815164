-- kpi_weekly's finalized roll-ups agree with the marts they summarise: weekly users of the
-- ('(all)', '(all)') row = activity_weekly.wau, and every roll-up row's revenue and sessions equal
-- the sum of the kpi_daily rows it covers.
select 'users' as check, w.week as week, w.users as mart, a.wau as expected
from {{ ref('kpi_weekly') }} as w
left join {{ ref('activity_weekly') }} as a on a.week = w.week
where w.channel = '(all)' and w.os = '(all)' and w.users != a.wau
union all
select 'revenue and sessions', w.week, toUInt64(w.revenue * 100 + w.sessions), toUInt64(d.revenue * 100 + d.sessions)
from {{ ref('kpi_weekly') }} as w
inner join (
    select toMonday(day) as week, channel_key, os_key, sum(revenue) as revenue, sum(sessions) as sessions
    from {{ ref('kpi_daily') }}
    {{ array_join_channel_os_rollups() }}
    group by week, channel_key, os_key
) as d on d.week = w.week and d.channel_key = w.channel and d.os_key = w.os
where w.revenue != d.revenue or w.sessions != d.sessions
