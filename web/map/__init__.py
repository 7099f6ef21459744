"""The map: boundaries of the area units, open cases as points, a point picker for the forms."""
