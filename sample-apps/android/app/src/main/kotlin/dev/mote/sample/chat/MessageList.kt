package dev.mote.sample.chat

import androidx.compose.foundation.background
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.PaddingValues
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.widthIn
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.lazy.rememberLazyListState
import androidx.compose.foundation.shape.RoundedCornerShape
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp

@Composable
fun MessageList(turns: List<Turn>, modifier: Modifier = Modifier) {
    val listState = rememberLazyListState()
    // Follow the reply as it grows; keyed on its length, so every piece scrolls.
    LaunchedEffect(turns.size, turns.lastOrNull()?.text?.length) {
        if (turns.isNotEmpty()) listState.scrollToItem(turns.lastIndex, Int.MAX_VALUE)
    }
    LazyColumn(
        modifier = modifier.fillMaxWidth(),
        state = listState,
        contentPadding = PaddingValues(12.dp),
        verticalArrangement = Arrangement.spacedBy(8.dp),
    ) {
        items(turns, key = { it.id }) { turn -> Bubble(turn) }
    }
}

@Composable
private fun Bubble(turn: Turn) {
    val colors = MaterialTheme.colorScheme
    Column(
        Modifier.fillMaxWidth(),
        horizontalAlignment = if (turn.fromUser) Alignment.End else Alignment.Start,
    ) {
        Text(
            text = turn.text.ifEmpty { "…" },
            modifier = Modifier
                .widthIn(max = 320.dp)
                .background(
                    if (turn.fromUser) colors.primaryContainer else colors.surfaceVariant,
                    RoundedCornerShape(12.dp),
                )
                .padding(10.dp),
            color = if (turn.fromUser) colors.onPrimaryContainer else colors.onSurfaceVariant,
        )
        turn.footer?.let {
            Text(
                it,
                Modifier.padding(start = 4.dp, top = 2.dp),
                style = MaterialTheme.typography.labelSmall,
                color = colors.outline,
            )
        }
    }
}
