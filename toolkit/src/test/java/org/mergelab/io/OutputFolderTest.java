package org.mergelab.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputFolderTest {
    @TempDir
    Path parent;

    private List<String> entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aFailingWriteLeavesNothingBehind() throws IOException {
        Path target = parent.resolve("out");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> {
            try (OutputFolder f = OutputFolder.create(target, false)) {
                Files.writeString(f.resolve("config.json"), "{}");
                Files.createDirectories(f.resolve("sub"));
                Files.writeString(f.resolve("sub/x.bin"), "partial");
                assertFalse(Files.exists(target), "the target does not exist while writing");
                assertTrue(f.dir().getFileName().toString().startsWith("."), "the partial folder is hidden");
                assertEquals(parent, f.dir().getParent(), "the partial folder sits beside the target");
                throw new IllegalStateException("boom");
            }
        });
        assertEquals("boom", e.getMessage());
        assertFalse(Files.exists(target));
        assertEquals(List.of(), entries(parent), "no partial folder, hidden or not, is left");
    }

    @Test
    void closingWithoutCommitDiscards() throws IOException {
        Path target = parent.resolve("out");
        try (OutputFolder f = OutputFolder.create(target, false)) {
            Files.writeString(f.resolve("a.txt"), "a");
        }
        assertEquals(List.of(), entries(parent));
    }

    @Test
    void commitMovesTheFolderIntoPlace() throws IOException {
        Path target = parent.resolve("nested/out");
        try (OutputFolder f = OutputFolder.create(target, false)) {
            Files.writeString(f.resolve("a.txt"), "hello");
            assertEquals(target.toAbsolutePath(), f.commit());
        }
        assertEquals("hello", Files.readString(target.resolve("a.txt")));
        assertEquals(List.of("out"), entries(parent.resolve("nested")));
    }

    @Test
    void anExistingTargetIsRefusedWithoutOverwrite() throws IOException {
        Path target = parent.resolve("out");
        Files.createDirectory(target);
        Files.writeString(target.resolve("old.txt"), "old");
        IOException e = assertThrows(IOException.class, () -> OutputFolder.create(target, false));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        assertEquals("old", Files.readString(target.resolve("old.txt")));
        assertEquals(List.of("out"), entries(parent), "refusing creates no partial folder");
    }

    @Test
    void overwriteReplacesTheTargetOnlyAtCommit() throws IOException {
        Path target = parent.resolve("out");
        Files.createDirectory(target);
        Files.writeString(target.resolve("old.txt"), "old");
        try (OutputFolder f = OutputFolder.create(target, true)) {
            Files.writeString(f.resolve("new.txt"), "new");
            assertEquals("old", Files.readString(target.resolve("old.txt")), "old content intact before commit");
            assertFalse(Files.exists(target.resolve("new.txt")));
            f.commit();
        }
        assertEquals(List.of("new.txt"), entries(target));
        assertEquals(List.of("out"), entries(parent), "the old folder is deleted, not left hidden");
    }

    @Test
    void aFailedOverwriteKeepsTheOldTarget() throws IOException {
        Path target = parent.resolve("out");
        Files.createDirectory(target);
        Files.writeString(target.resolve("old.txt"), "old");
        assertThrows(IllegalStateException.class, () -> {
            try (OutputFolder f = OutputFolder.create(target, true)) {
                Files.writeString(f.resolve("new.txt"), "new");
                throw new IllegalStateException("boom");
            }
        });
        assertEquals(List.of("old.txt"), entries(target));
        assertEquals(List.of("out"), entries(parent));
    }

    @Test
    void aFileInTheWayIsRefusedEvenWithOverwrite() throws IOException {
        Path target = Files.writeString(parent.resolve("out"), "a file");
        assertThrows(IOException.class, () -> OutputFolder.create(target, true));
        assertEquals("a file", Files.readString(target));
    }
}
