-- The assessment by the national methods, as the city-targets worker computes it from the feed
-- tables (streams/assessment_rows.py writes them): every row is of one basis, 'realtime'
-- (every stored value) or 'audited' (the rows whose status is audited, 审核数据), and a
-- basis's year is replaced whole at each computation. Periods are 'month' and 'year' (so far),
-- named by their first day (starts), in the city's calendar.

-- Monthly and annual means of the daily means of each pollutant with an annual limit, per
-- station and for the city (site_id 'city': the mean of the stations' daily means), with the
-- GB 3095 validity rule: valid when days >= required (27 valid days, 25 in February; 324 in a
-- year). mean is that of the valid days so far, also while the period is not valid (yet).
CREATE TABLE IF NOT EXISTS air_period_means (
    basis      text    NOT NULL CHECK (basis IN ('realtime', 'audited')),
    site_id    text    NOT NULL,
    period     text    NOT NULL CHECK (period IN ('month', 'year')),
    starts     date    NOT NULL,
    pollutant  text    NOT NULL,
    mean       double precision,
    days       integer NOT NULL,
    required   integer NOT NULL,
    valid      boolean NOT NULL,
    edition    text    NOT NULL,
    PRIMARY KEY (basis, site_id, period, starts, pollutant)
);

-- A section's class over a month and the year so far by the 2011 national method: the
-- single-factor class of the arithmetic mean of each indicator over the period's samples
-- (1-6, 6 worse than Class V); controlling names the indicators at that class.
CREATE TABLE IF NOT EXISTS section_period_classes (
    basis        text     NOT NULL CHECK (basis IN ('realtime', 'audited')),
    site_id      text     NOT NULL,
    period       text     NOT NULL CHECK (period IN ('month', 'year')),
    starts       date     NOT NULL,
    water_class  smallint NOT NULL CHECK (water_class BETWEEN 1 AND 6),
    controlling  text[]   NOT NULL,
    samples      integer  NOT NULL,
    edition      text     NOT NULL,
    PRIMARY KEY (basis, site_id, period, starts)
);

-- A wastewater plant's period means (of its daily means) against GB 18918-2002 grade (the
-- plan's Grade 1A): whether every item meets it, the strictest grade met, the items over it.
CREATE TABLE IF NOT EXISTS plant_period_grades (
    basis      text    NOT NULL CHECK (basis IN ('realtime', 'audited')),
    site_id    text    NOT NULL,
    period     text    NOT NULL CHECK (period IN ('month', 'year')),
    starts     date    NOT NULL,
    grade      text    NOT NULL,
    meets      boolean NOT NULL,
    grade_met  text,
    exceeding  text[]  NOT NULL,
    days       integer NOT NULL,
    edition    text    NOT NULL,
    PRIMARY KEY (basis, site_id, period, starts)
);

-- Each plan target's progress in the year, as exported (envwatch_target_value, _goal,
-- _status): scope 'city', or a county code (energy intensity); value NaN when it needs a figure
-- the target file does not set (the PM2.5 baseline), goal NaN likewise (the intensity
-- reduction); status met, at_risk or missed, NULL without a goal; as_of the day it counts to.
CREATE TABLE IF NOT EXISTS target_progress (
    basis   text    NOT NULL CHECK (basis IN ('realtime', 'audited')),
    target  text    NOT NULL,
    scope   text    NOT NULL,
    year    integer NOT NULL,
    value   double precision NOT NULL,
    goal    double precision NOT NULL,
    status  text    CHECK (status IN ('met', 'at_risk', 'missed')),
    as_of   date    NOT NULL,
    PRIMARY KEY (basis, target, scope, year)
);

-- The worker replaces a basis's year (delete, then insert). The reader reads what the
-- dashboards read (006 keeps that rule): the targets, the air means and the section classes;
-- the plants' grades join it with the dashboard that shows them.
GRANT SELECT, INSERT, DELETE ON air_period_means, section_period_classes, plant_period_grades,
    target_progress TO envwatch_writer;
GRANT SELECT ON air_period_means, section_period_classes, target_progress TO envwatch_reader;
