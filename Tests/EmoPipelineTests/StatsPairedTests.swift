import XCTest
@testable import EmoPipeline

final class StatsPairedTests: XCTestCase {
    func testWilcoxonMatchesSciPy() throws {
        let ref = try EvalkitFixtures.reference()
        let cases = try XCTUnwrap(ref["wilcoxon"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 6)
        var methods: Set<String> = []
        for c in cases {
            let name = c["name"] as? String ?? "?"
            let r = try PairedTests.wilcoxon(EvalkitFixtures.doubles(c["x"]), EvalkitFixtures.doubles(c["y"]))
            methods.insert(r.method)
            XCTAssertEqual(r.statistic, try XCTUnwrap(EvalkitFixtures.double(c["statistic"])), accuracy: 1e-9, name)
            XCTAssertEqual(r.pValue, try XCTUnwrap(EvalkitFixtures.double(c["pValue"])), accuracy: 1e-9, name)
        }
        XCTAssertEqual(methods, ["exact", "exact-permutation", "normal-approximation"], "every branch is exercised")
    }

    func testSignTestMatchesSciPyBinomtest() throws {
        let ref = try EvalkitFixtures.reference()
        for c in try XCTUnwrap(ref["sign"] as? [[String: Any]]) {
            let name = c["name"] as? String ?? "?"
            let r = try PairedTests.sign(EvalkitFixtures.doubles(c["x"]), EvalkitFixtures.doubles(c["y"]))
            XCTAssertEqual(Int(r.statistic), (c["positive"] as? NSNumber)?.intValue, name)
            XCTAssertEqual(r.n, (c["n"] as? NSNumber)?.intValue, name)
            XCTAssertEqual(r.pValue, try XCTUnwrap(EvalkitFixtures.double(c["pValue"])), accuracy: 1e-9, name)
        }
    }

    func testSignedRankNullDistributionIsBinomialShaped() {
        // Counts of rank-sum values for n = 3: subsets of {1,2,3} → sums 0,1,2,3,3,4,5,6.
        XCTAssertEqual(PairedTests.signedRankCounts(3), [1, 1, 1, 2, 1, 1, 1])
        XCTAssertEqual(PairedTests.signedRankCounts(10).reduce(0, +), 1024)
    }

    func testPairedTestErrors() {
        XCTAssertThrowsError(try PairedTests.wilcoxon([1, 2], [1, 2])) {
            XCTAssertEqual($0 as? PairedTestError, .noNonZeroDifferences)
        }
        XCTAssertThrowsError(try PairedTests.sign([1, 2, 3], [1, 2])) {
            XCTAssertEqual($0 as? PairedTestError, .lengthMismatch(3, 2))
        }
    }
}
