"""Dark, high-contrast gym theme: colours, the style sheet and pyqtgraph defaults."""

from __future__ import annotations

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtGui import QColor, QFont, QPalette

BACKGROUND = "#0d1014"
PANEL = "#171b21"
PANEL_BORDER = "#2a3038"
TEXT = "#eef1f4"
MUTED = "#8b949e"
GOOD = "#2fd06b"
WARNING = "#ffb020"
STOP = "#ff3b30"
STOP_DARK = "#7a0f0a"
ACCENT = "#4aa3ff"
POSITION = "#4aa3ff"
VELOCITY = "#ffd166"
BEST = "#eef1f4"
DAY = "#8e6cff"  # done for the day: its own colour, not the set's STOP red
DAY_DARK = "#241a55"
TEMPO = "#ff4fd8"  # a rep that missed its tempo

LEVEL_COLOURS = {"good": GOOD, "warning": WARNING, "stop": STOP}


def level_colour(level: str) -> str:
    return LEVEL_COLOURS.get(level, TEXT)


def qcolor(hex_colour: str, alpha: int = 255) -> QColor:
    c = QColor(hex_colour)
    c.setAlpha(alpha)
    return c


STYLE_SHEET = f"""
QWidget {{ background-color: {BACKGROUND}; color: {TEXT}; font-size: 16px; }}
QMainWindow, QDialog {{ background-color: {BACKGROUND}; }}
QTabWidget::pane {{ border: 0; }}
QTabBar::tab {{ background: {PANEL}; color: {MUTED}; padding: 8px 22px; font-size: 18px; font-weight: 600;
               border: 1px solid {PANEL_BORDER}; border-bottom: 0; margin-right: 2px; }}
QTabBar::tab:selected {{ background: {BACKGROUND}; color: {TEXT}; border-color: {ACCENT}; }}
QGroupBox {{ border: 1px solid {PANEL_BORDER}; border-radius: 6px; margin-top: 18px; padding: 8px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; color: {MUTED}; font-weight: 600; }}
QLabel[role="caption"] {{ color: {MUTED}; font-size: 14px; }}
QLineEdit, QComboBox, QPlainTextEdit {{
    background: {PANEL}; border: 1px solid {PANEL_BORDER}; border-radius: 4px; padding: 4px 6px;
    selection-background-color: {ACCENT}; font-size: 17px; min-height: 26px; }}
QDoubleSpinBox, QSpinBox {{ font-size: 17px; min-height: 30px; }}
QComboBox QAbstractItemView {{ background: {PANEL}; selection-background-color: {ACCENT}; }}
QPushButton {{ background: {PANEL}; border: 1px solid {PANEL_BORDER}; border-radius: 6px; padding: 8px 14px;
              font-size: 17px; font-weight: 600; }}
QPushButton:hover {{ border-color: {ACCENT}; }}
QPushButton:pressed {{ background: {PANEL_BORDER}; }}
QPushButton:checked {{ background: {ACCENT}; color: {BACKGROUND}; }}
QPushButton[kind="primary"] {{ background: {ACCENT}; color: {BACKGROUND}; border-color: {ACCENT}; }}
QPushButton[kind="rpe"] {{ min-width: 30px; padding: 5px 2px; font-size: 18px; }}
QPushButton[kind="rpe"]:checked {{ background: {WARNING}; color: {BACKGROUND}; }}
QCheckBox {{ spacing: 8px; font-size: 16px; }}
QCheckBox::indicator {{ width: 18px; height: 18px; border: 2px solid {MUTED}; border-radius: 4px;
    background: {PANEL}; }}
QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; }}
QCheckBox:disabled {{ color: {MUTED}; }}
QHeaderView::section {{ background: {PANEL}; color: {MUTED}; border: 0; padding: 4px; font-weight: 600; }}
QTreeWidget, QTableWidget {{ background: {PANEL}; alternate-background-color: #1c2129; border: 1px solid {PANEL_BORDER};
                            font-size: 16px; }}
QTreeWidget::item:selected, QTableWidget::item:selected {{ background: {ACCENT}; color: {BACKGROUND}; }}
QScrollBar {{ background: {PANEL}; }}
QToolTip {{ background: {PANEL}; color: {TEXT}; border: 1px solid {PANEL_BORDER}; }}
QSplitter::handle {{ background: {PANEL_BORDER}; }}
"""


def apply(app) -> None:
    """Dark palette, style sheet and pyqtgraph defaults for the whole application."""
    import pyqtgraph as pg

    app.setStyle("Fusion")
    pal = QPalette()
    for role, colour in (
        (QPalette.Window, BACKGROUND), (QPalette.WindowText, TEXT), (QPalette.Base, PANEL),
        (QPalette.AlternateBase, "#1c2129"), (QPalette.Text, TEXT), (QPalette.Button, PANEL),
        (QPalette.ButtonText, TEXT), (QPalette.Highlight, ACCENT), (QPalette.HighlightedText, BACKGROUND),
        (QPalette.ToolTipBase, PANEL), (QPalette.ToolTipText, TEXT), (QPalette.PlaceholderText, MUTED),
    ):
        pal.setColor(role, QColor(colour))
    app.setPalette(pal)
    app.setStyleSheet(STYLE_SHEET)
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), 12.0))
    app.setFont(font)
    pg.setConfigOptions(background=BACKGROUND, foreground=MUTED, antialias=False, useOpenGL=False)
