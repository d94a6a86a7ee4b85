"""Runs the training side's unit tests and ends with the line every test
runner of the project ends with: `N passed, N failed`."""
import sys
import unittest

suite = unittest.defaultTestLoader.discover("training", pattern="test_*.py")
result = unittest.TextTestRunner(verbosity=1).run(suite)
failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
passed = result.testsRun - failed - len(result.skipped)
print(f"{passed} passed, {failed} failed")
sys.exit(0 if failed == 0 else 1)
