"""Assessment by the national methods over whole periods, from what storage holds. Pure.

``streams/stored_year.py`` reads a year of one basis into a :class:`~alerts.assessment.year.Year`
(plain data); :func:`~alerts.assessment.year.assess` turns it into the plan targets' figures and
the period results stored for analysts: air means by month and year (``air``), section classes
(``water``), county energy intensity (``energy``) and wastewater plants' grades
(``wastewater``).
"""
