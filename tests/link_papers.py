"""Papers with bibliography links, shared by the CLI and web link tests: a Chandra
cluster paper (ObsIDs, a CXC DOI), the same paper's passing HST mention, and an HST
planet paper (WFC3 and STIS programmes, a grant-only programme number)."""

PAPERS = [
    {
        "bibcode": "2024ApJ...1..1A",
        "telescope": "CHANDRA",
        "title": "Chandra observations of Abell 2029",
        "body": "We analysed the Chandra ACIS-I observations of the cluster (ObsIDs 4977, "
        "6101 and 10437), reprocessed with chandra_repro. The data are available in the "
        "Chandra Data Collection doi:10.25574/cdc.245.",
    },
    {
        "bibcode": "2024ApJ...1..1A",
        "telescope": "HST",
        "body": "Earlier HST/ACS imaging of the cluster (Smith et al. 2001) showed the same.",
    },
    {
        "bibcode": "2024AJ....2..2B",
        "telescope": "HST",
        "body": "We observed the planet with HST/WFC3 and the G141 grism in program GO-15000 "
        "and with STIS (GO 15001).",
        "acknowledgments": "Support for this work was provided by NASA through grant "
        "HST-GO-16543.001-A.",
    },
]
