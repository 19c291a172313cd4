"""`make bench`: the guard raced against raw clients and its peers (issue 9). See bench.py."""
