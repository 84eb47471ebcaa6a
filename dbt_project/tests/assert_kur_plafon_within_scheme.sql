-- A facility's ceiling is positive and within its scheme's limit (seed ref_kur_schemes). The loader
-- quarantines amounts outside the limits, so a row here means a quarantine check let it through.
select
    k.id_fasilitas,
    k.bank,
    k.skema,
    k.plafon,
    s.plafon_max,
    k.source_file,
    k.source_line
from {{ ref('stg_himbara__kur_facilities') }} as k
left join {{ ref('ref_kur_schemes') }} as s on s.skema = k.skema
where s.skema is null
   or not (k.plafon > 0 and k.plafon <= s.plafon_max)
