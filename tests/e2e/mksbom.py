#!/usr/bin/env python3
"""Writes a syft-style SBOM of N packages: SPDX 2.3 JSON (spdx) or CycloneDX 1.5 JSON
(cyclonedx), pretty-printed with a trailing newline as syft writes it.

    mksbom.py spdx|cyclonedx NAME N > FILE
"""
import json
import sys

kind, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
pkgs = [("pkg%d" % i, "1.%d.0" % i) for i in range(n)]
if kind == "spdx":
    doc = {"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
           "name": name, "documentNamespace": "https://anchore.com/syft/image/%s-1" % name,
           "creationInfo": {"licenseListVersion": "3.22", "creators": ["Organization: Anchore, Inc",
                                                                       "Tool: syft-1.0.0"],
                            "created": "2026-12-03T12:00:00Z"},
           "packages": [{"name": p, "SPDXID": "SPDXRef-Package-%s" % p, "versionInfo": v,
                         "supplier": "NOASSERTION", "downloadLocation": "NOASSERTION",
                         "licenseConcluded": "NOASSERTION", "copyrightText": "NOASSERTION",
                         "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER",
                                           "referenceType": "purl",
                                           "referenceLocator": "pkg:apk/alpine/%s@%s" % (p, v)}]}
                        for p, v in pkgs],
           "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT",
                              "relationshipType": "DESCRIBES",
                              "relatedSpdxElement": "SPDXRef-Package-pkg0"}]}
else:
    doc = {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
           "serialNumber": "urn:uuid:00000000-0000-4000-8000-000000000001",
           "metadata": {"timestamp": "2026-12-03T12:00:00Z",
                        "tools": {"components": [{"type": "application", "name": "syft",
                                                  "version": "1.0.0"}]},
                        "component": {"type": "container", "name": name}},
           "components": [{"type": "library", "name": p, "version": v,
                           "purl": "pkg:apk/alpine/%s@%s" % (p, v)} for p, v in pkgs]}
sys.stdout.write(json.dumps(doc, indent=1) + "\n")
