"""Scenario texts the tests write into their temporary folders (a helper module, not a test file).

``MINIMAL`` is the README's minimal scenario: one orbiter (TGO, circular, keplerian) over one
asset (Curiosity), every other setting at its default.
"""

MINIMAL = """\
orbiters:
  - name: TGO
    orbit: {type: keplerian, epoch: "2026-11-23T00:00:00Z",
            semi_major_axis_km: 3796.19, eccentricity: 0.0,
            inclination_deg: 74.0, raan_deg: 0.0,
            arg_periapsis_deg: 0.0, mean_anomaly_deg: 0.0}
assets:
  - {name: Curiosity, latitude_deg: -4.5895, longitude_deg: 137.4417,
     height_m: 0, min_elevation_deg: 10}
"""

#: MINIMAL with one ground station (Madrid), so the X-band settings are in play.
WITH_STATION = MINIMAL + """\
stations:
  - {name: Madrid, latitude_deg: 40.4314, longitude_deg: -4.2481, height_m: 830}
"""

#: the nightly job's test scenario: TGO over Curiosity, three stations, a 3-day nightly horizon
NIGHTLY = """\
name: nightly-test
orbiters:
  - name: TGO
    orbit: {type: keplerian, epoch: "2026-11-20T00:00:00Z", semi_major_axis_km: 3796.19,
            eccentricity: 0.0, inclination_deg: 74.0, raan_deg: 0.0,
            arg_periapsis_deg: 0.0, mean_anomaly_deg: 0.0}
assets:
  - {name: Curiosity, latitude_deg: -4.5895, longitude_deg: 137.4417, height_m: 0, min_elevation_deg: 10}
stations:
  - {name: Goldstone, latitude_deg: 35.4267, longitude_deg: -116.8900, height_m: 1000}
  - {name: Canberra, latitude_deg: -35.4014, longitude_deg: 148.9817, height_m: 690}
  - {name: Madrid, latitude_deg: 40.4314, longitude_deg: -4.2481, height_m: 830}
planning: {time_limit_s: 5, workers: 1}
nightly: {days: 3, freeze_hours: 24}
"""
